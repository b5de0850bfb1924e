"""The fault run's parts: the cluster it starts, the clients it drives, the faults it injects, and the checker."""
