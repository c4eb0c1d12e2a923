"""Waiting for htmx in browser tests."""

from playwright.sync_api import Page, expect


def htmx_settled(page: Page) -> None:
    """Wait until htmx has wired up swapped-in content: it does so when the swap settles (~20 ms
    after it), so typing into a freshly swapped input before then fires no request."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
