"""The fast answer of an unchanged `up` or `plan`: "nothing to do" without loading the models.

A full `up` (through the CLI, on one engine, with no option beyond -f/-p/--env-file/--profile)
records what it read and what it left: every file the stack was loaded from (its stack files,
env files, build contexts, modules a stack.py imports), and the engine's objects it ended with
(container ids and images, networks). The next `up` or `plan` of the same command line checks
that record first: every input file unchanged (size, times, inode; its folder too, so a new
file beside it counts), the same environment, the same deployer, then one list of the stack's
containers (and its networks, images and deploy lock) on the engine. When all of that matches
and every container runs healthy, it answers as the full command would, in the time Compose
takes; on any difference at all it says nothing and the full command runs.

The record is this user's (a private cache folder): paths and engine ids only. The environment
counts through a keyed digest, never its values.
"""
