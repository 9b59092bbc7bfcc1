"""Loading and checking dialogs/ content, and rendering replies from its templates."""
