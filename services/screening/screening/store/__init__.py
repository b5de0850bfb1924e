"""The screening service's tables and the queries over them."""
