"""The data sources, one module each (params.yaml prepare.source): the contract is in uncertainty.data."""
