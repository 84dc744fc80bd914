from pentagon.webhook.settings import Settings


def test_settings_default_addr() -> None:
    assert Settings().webhook_addr
