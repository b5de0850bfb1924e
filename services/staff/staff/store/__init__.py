"""The staff service's tables and the queries over them."""
