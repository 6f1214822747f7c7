using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace VectorPipeline.ServiceDefaults.Http;

/// <summary>
/// Endpoints whose requests stay open for as long as the client listens (a server-sent event stream). Such a request
/// takes no place of <c>RateLimit:ConcurrentPerClient</c> or <c>Requests:MaxConcurrent</c>: one open stream would
/// otherwise hold a client's only place, and a few of them the whole service's. It still spends a rate-limit token.
/// </summary>
public static class LongLivedRequests
{
    /// <summary>Marks the endpoints of <paramref name="builder"/> as long-lived.</summary>
    public static TBuilder AsLongLived<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(Marker.Instance);

    /// <summary>True when the request's endpoint is marked with <see cref="AsLongLived{TBuilder}"/> (routing must have run).</summary>
    public static bool IsLongLived(this HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<Marker>() is not null;

    private sealed class Marker
    {
        public static readonly Marker Instance = new();
    }
}
