"""A team's shared MLflow tracking server: roles, user accounts, and the server process.

`roles` says what each team role may do, `users` keeps accounts and roles in
MLflow's auth database, `auth_app` is the server-side check MLflow's permissions
cannot express alone, and `server` builds the `mlflow server` command line.
"""
