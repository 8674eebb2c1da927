"""The models users write (spec), their units, and deployer's one error hierarchy."""
