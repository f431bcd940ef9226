"""HTTP handlers of the notebook exchange, one module per resource."""
