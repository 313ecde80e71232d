"""pytest plugin (entry point `shipper`): fixtures that check an app's records against the registry."""
