"""Document stores: where the bytes of uploaded documents live."""
