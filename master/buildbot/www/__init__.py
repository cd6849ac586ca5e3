"""The web server: REST API, and later the UI, WebSocket, auth and change hooks."""
