"""Credit cards: a visitor's tokenized payment cards. A card number itself is never accepted nor stored."""
