"""Articles (news of the venue) with translated titles and contents."""
