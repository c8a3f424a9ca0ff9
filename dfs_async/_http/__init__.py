"""One governed call: the aiohttp transport, the client, retries, Standard calls, postbacks."""
