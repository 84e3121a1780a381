"""The routine's steps: which step a case may take, what it becomes, and what is owed to the person."""
