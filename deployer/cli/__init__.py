"""`python -m deployer`: presentation only; every command calls the API."""
