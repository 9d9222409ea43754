"""The GraphQL surface: Strawberry types, inputs and enums. Thin: resolvers do the work."""
