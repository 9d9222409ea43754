"""Use cases behind each root field and nested connection: visibility, arguments, paging."""
