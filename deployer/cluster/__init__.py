"""A local multi-node Docker Swarm for tests: dockerd nodes as containers, plus a registry."""
