"""What deployer keeps on this host: private folders and files no other user controls."""
