"""The resident's conversation: one handler module per screen family, routed by ``routes``.

``tutor.Tutor`` is the entry point a channel calls; ``routes`` says which handler answers each
button and command; ``ports`` says what the conversation needs from storage.
"""
