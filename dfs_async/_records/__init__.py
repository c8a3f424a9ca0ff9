"""What persists: result records, the resume index, the JSONL sink, key sets."""
