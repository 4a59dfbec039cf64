"""The JSON wire contract shared by the server and its clients (imports only glasskey.core)."""
