"""Images and storage: validate, strip, derive on bytes; storage backends. No HTTP."""
