using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace VectorPipeline.ServiceDefaults.OpenApi;

/// <summary>
/// Takes nullable properties out of the <c>required</c> lists of the document's schemas. The generator marks
/// every record constructor parameter without a default value as required, but the services read a missing
/// property as null (requests) and leave null properties out of what they write (answers), so a property that
/// may be null may also be absent. A document transformer, because it runs once the schemas are final
/// (nullable references are wrapped in <c>oneOf</c> with <c>null</c> only then).
/// </summary>
public sealed class OptionalNullablePropertiesTransformer : IOpenApiDocumentTransformer
{
    /// <inheritdoc />
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var schema in document.Components?.Schemas?.Values.OfType<OpenApiSchema>() ?? [])
        {
            if (schema.Required is { Count: > 0 } required && schema.Properties is { } properties)
            {
                foreach (var name in required.Where(name => properties.TryGetValue(name, out var property) && AllowsNull(property)).ToList())
                {
                    required.Remove(name);
                }
            }
        }

        return Task.CompletedTask;
    }

    private static bool AllowsNull(IOpenApiSchema schema) =>
        (schema.Type is { } type && type.HasFlag(JsonSchemaType.Null))
        || (schema.OneOf?.Any(AllowsNull) ?? false)
        || (schema.AnyOf?.Any(AllowsNull) ?? false);
}
