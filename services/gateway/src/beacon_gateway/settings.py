from __future__ import annotations

from pydantic import Field

from beacon_runtime.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    host: str = "127.0.0.1"
    port: int = 8000
    # Comma-separated report-API keys. Empty in embedded mode means: generate one at start-up.
    api_keys: str = ""
    max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    cors_origins: str = ""

    def api_key_list(self) -> list[str]:
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
