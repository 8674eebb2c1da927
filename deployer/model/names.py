"""What a stack's name may be: plain constants, read where loading the models would cost."""

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
NAME_MAX_LENGTH = 48
