"""The engine seam: the protocol the rest of deployer calls, and the data it answers with.

Importing this package does not import docker: the real engine is `docker_engine.DockerEngine`,
loaded by whoever connects (deployer.api.connect).
"""

from deployer.core.state import ContainerInfo, NetworkInfo, PublishedPort, VolumeInfo
from deployer.engine.protocol import Engine

__all__ = ["ContainerInfo", "Engine", "NetworkInfo", "PublishedPort", "VolumeInfo"]
