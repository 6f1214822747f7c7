namespace VectorPipeline.Messaging;

/// <summary>
/// The RabbitMQ address in the form Aspire injects as <c>ConnectionStrings__messaging</c>:
/// <c>amqp://user:password@host:port/vhost</c> (vhost optional, <c>/</c> by default).
/// </summary>
/// <param name="Host">Broker host name or address.</param>
/// <param name="Port">AMQP port (5672 by default).</param>
/// <param name="VirtualHost">Virtual host, <c>/</c> by default.</param>
/// <param name="Username">User name (<c>guest</c> when the URI has none).</param>
/// <param name="Password">Password (<c>guest</c> when the URI has none).</param>
public sealed record RabbitMqConnection(string Host, int Port, string VirtualHost, string Username, string Password)
{
    /// <summary>Parses an <c>amqp://</c> URI (RabbitMQ URI specification).</summary>
    /// <exception cref="FormatException">The string is not an absolute <c>amqp</c> URI.</exception>
    public static RabbitMqConnection Parse(string connectionString)
    {
        if (!Uri.TryCreate(connectionString.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != "amqp")
        {
            throw new FormatException(
                "ConnectionStrings:messaging must be an amqp URI such as amqp://guest:guest@127.0.0.1:5672/");
        }

        var user = "guest";
        var password = "guest";
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "";
        }

        var vhost = uri.AbsolutePath.Length > 1 ? Uri.UnescapeDataString(uri.AbsolutePath[1..]) : "/";
        return new RabbitMqConnection(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 5672 : uri.Port, vhost, user, password);
    }
}
