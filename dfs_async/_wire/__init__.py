"""DataForSEO's JSON, no I/O: request Structs and their checks, response Structs, decoding."""
