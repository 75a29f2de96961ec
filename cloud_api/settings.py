"""Settings of a cloud worker, passed to create_app."""
from pydantic import BaseModel


class CloudSettings(BaseModel):
    db_url: str = "sqlite:///posline-cloud.db"
    host: str = "127.0.0.1"
    port: int = 8700
