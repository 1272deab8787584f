"""The browser chat page pipechat serves at `/`."""
