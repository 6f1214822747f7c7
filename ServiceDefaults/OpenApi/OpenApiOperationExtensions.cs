using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;

namespace VectorPipeline.ServiceDefaults.OpenApi;

/// <summary>
/// Helpers for the services' OpenAPI operation transformers: find the endpoint an operation belongs to and
/// add examples and problem-details responses to it.
/// </summary>
public static class OpenApiOperationExtensions
{
    /// <summary>JSON shape of examples: the services' wire form (camelCase names, absent values left out).</summary>
    public static JsonSerializerOptions ExampleJsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The endpoint's name (<c>WithName</c>), or null when it has none.</summary>
    public static string? EndpointName(this OpenApiOperationTransformerContext context) =>
        context.Description.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>().LastOrDefault()?.EndpointName;

    /// <summary>
    /// Adds a named example of the JSON request body, serialized from <paramref name="value"/> (a request
    /// record, so the example always has the real shape).
    /// </summary>
    /// <exception cref="InvalidOperationException">The operation has no JSON request body.</exception>
    public static OpenApiOperation AddRequestExample<T>(this OpenApiOperation operation, string name, string summary, T value)
    {
        var media = operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var json)
            ? json
            : throw new InvalidOperationException($"Operation '{operation.OperationId}' has no application/json request body to add the example '{name}' to.");
        AddExample(media, name, summary, value);
        return operation;
    }

    /// <summary>Adds a named example of the JSON answer with status <paramref name="statusCode"/>.</summary>
    /// <exception cref="InvalidOperationException">The operation documents no JSON answer with that status.</exception>
    public static OpenApiOperation AddResponseExample<T>(this OpenApiOperation operation, int statusCode, string name, string summary, T value)
    {
        var key = statusCode.ToString(CultureInfo.InvariantCulture);
        var media = operation.Responses is { } responses && responses.TryGetValue(key, out var response)
            && response.Content is { } content && content.TryGetValue("application/json", out var json)
            ? json
            : throw new InvalidOperationException($"Operation '{operation.OperationId}' has no application/json answer {key} to add the example '{name}' to.");
        AddExample(media, name, summary, value);
        return operation;
    }

    /// <summary>
    /// Documents an RFC 9457 problem-details answer (<c>application/problem+json</c>) with status
    /// <paramref name="statusCode"/>, for answers the endpoint's result types do not describe themselves
    /// (<c>TypedResults.Problem</c>). An answer already documented for that status is left as it is.
    /// </summary>
    public static async Task AddProblemResponseAsync(this OpenApiOperation operation, OpenApiOperationTransformerContext context,
        int statusCode, string description, CancellationToken cancellationToken)
    {
        operation.Responses ??= [];
        var key = statusCode.ToString(CultureInfo.InvariantCulture);
        if (operation.Responses.ContainsKey(key))
        {
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken);
        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = schema } },
        };
    }

    private static void AddExample<T>(OpenApiMediaType media, string name, string summary, T value)
    {
        media.Examples ??= new Dictionary<string, IOpenApiExample>();
        media.Examples[name] = new OpenApiExample { Summary = summary, Value = JsonSerializer.SerializeToNode(value, ExampleJsonOptions) };
    }
}
