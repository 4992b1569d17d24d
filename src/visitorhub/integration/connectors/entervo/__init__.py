"""Scheidt & Bachmann entervo infinite: the Consumer API client, the visitor → consumer mapping, an emulator."""
