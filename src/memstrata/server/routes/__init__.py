"""``/v1`` routers: thin handlers over :class:`memstrata.Memory`."""
