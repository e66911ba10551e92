"""The data sources, one module each (params.yaml prepare.source): their contract is uncertainty.data.contract."""
