"""``/v1`` routers: thin handlers over :class:`outcrop.Memory`."""
