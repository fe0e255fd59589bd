"""A plugin whose code does not parse."""

def broken(:
    pass
