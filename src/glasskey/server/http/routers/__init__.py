"""One router per resource; each route calls one service method and encodes its answer."""
