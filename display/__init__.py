"""The public screens' side: board and ticket status pages, and the Socket.IO namespace."""
