"""The lighttrack terminal UI (Textual). It talks to lighttrack's public API only, never SQL."""
