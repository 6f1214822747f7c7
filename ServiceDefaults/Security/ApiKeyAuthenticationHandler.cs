using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace VectorPipeline.ServiceDefaults.Security;

/// <summary>Options of the API-key scheme (nothing to set: the keys come from <see cref="ApiKeyStore"/>).</summary>
public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
}

/// <summary>
/// The <c>ApiKey</c> authentication scheme: reads the key from <c>X-Api-Key: {key}</c> or
/// <c>Authorization: Bearer {key}</c>, looks it up in <see cref="ApiKeyStore"/> (SHA-256, constant-time
/// comparison) and signs the caller in with its name, tenant and roles. Challenges answer 401 and forbidden
/// answers 403, both as problem details. Keys are never logged: failure messages say only what was wrong.
/// When authentication is off (<see cref="ApiKeyStore.Enabled"/> false) every request is an administrator of the
/// default tenant.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys,
    IProblemDetailsService problems)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The header that may carry the key instead of <c>Authorization: Bearer</c>.</summary>
    public const string HeaderName = "X-Api-Key";

    private const string BearerPrefix = "Bearer ";

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!keys.Enabled)
        {
            var anonymous = new ClaimsIdentity([new Claim(ClaimTypes.Name, "anonymous"), new Claim(ClaimTypes.Role, Roles.Admin), new Claim(ApiKeyClaims.Tenant, "")], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(anonymous), SchemeName)));
        }

        string? presented;
        if (Request.Headers.TryGetValue(HeaderName, out var header))
        {
            if (header.Count != 1 || string.IsNullOrWhiteSpace(header[0]))
            {
                return Task.FromResult(AuthenticateResult.Fail($"The {HeaderName} header must hold exactly one key."));
            }

            presented = header[0]!.Trim();
        }
        else if (Request.Headers.Authorization is { Count: 1 } authorization
                 && authorization[0] is { } value && value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            presented = value[BearerPrefix.Length..].Trim();
        }
        else
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var key = keys.Find(presented);
        if (key is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name), new(ApiKeyClaims.KeyName, key.Name), new(ApiKeyClaims.Tenant, key.Tenant) };
        claims.AddRange(key.Roles.Select(role => new Claim(ClaimTypes.Role, role)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    /// <summary>401 with <c>WWW-Authenticate: Bearer</c> and a problem detail saying how to send a key.</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer realm=\"VectorPipeline\"";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "API key required",
                Detail = result.Failure is { } failure
                    ? failure.Message
                    : $"Send an API key as 'Authorization: Bearer {{key}}' or '{HeaderName}: {{key}}'.",
                Type = "https://tools.ietf.org/html/rfc9110#section-15.5.2",
            },
        });
    }

    /// <summary>403 with a problem detail naming the roles the key has.</summary>
    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var roles = Context.User.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Not allowed for this API key",
                Detail = $"This API key has the role(s) {string.Join(", ", roles)}, which may not use {Request.Method} {Request.Path}.",
                Type = "https://tools.ietf.org/html/rfc9110#section-15.5.4",
            },
        });
    }
}
