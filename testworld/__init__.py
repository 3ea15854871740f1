"""The local AWS test world: moto (Secrets Manager, STS, IAM) plus a Roles Anywhere emulator."""
