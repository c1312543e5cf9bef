"""WebSocket consumers and publishing of realtime events after commit. Depends only on core."""
