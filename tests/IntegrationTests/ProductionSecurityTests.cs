using System.Net;
using Npgsql;
using VectorPipeline.TestServers;

namespace VectorPipeline.IntegrationTests;

/// <summary>
/// What a Production deployment shows the outside: errors without internals, logs without secrets, browser headers.
/// Ingest.Api and Search.Api run as processes in the Production environment, logging at Debug level, with API keys
/// and a database connection string that holds a password (PostgreSQL's trust authentication here ignores it).
/// </summary>
[Collection(ServersFixture.BrokerCollection)]
public class ProductionSecurityTests(ServersFixture servers)
{
    private const string DatabasePassword = "pg-secret-password-7319";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // What must never reach a client in an error answer: exception types and messages, stack frames, SQL, SQLSTATEs.
    private static readonly string[] Internals =
        ["Exception", "Npgsql", "   at ", "VectorPipeline.", "SELECT", "FROM ", "relation", "42P01", "chunks_away", DatabasePassword, "Host="];

    [Fact]
    public async Task A_database_error_answers_a_bare_500_problem_detail_and_no_key_or_password_reaches_the_log()
    {
        var database = await servers.NewDatabaseAsync();
        var settings = SecuredServicesFixture.KeySettings();
        settings["ConnectionStrings__vectordb"] = database + ";Password=" + DatabasePassword;
        settings["ConnectionStrings__messaging"] = servers.RabbitMq.ConnectionString;
        foreach (var category in new[] { "Default", "Microsoft", "Microsoft.AspNetCore", "Npgsql", "MassTransit" })
        {
            settings[$"Logging__LogLevel__{category}"] = "Debug";
        }

        await using var ingest = await ServiceProcess.StartAsync("ingest-api", "Ingest.Api", settings);
        await using var search = await ServiceProcess.StartAsync("search-api", "Search.Api", settings);
        const string admin = SecuredServicesFixture.AdminKey;
        Assert.Equal(HttpStatusCode.Accepted, (await Api.SendAsync(ingest.Url, HttpMethod.Post, "/documents", SecuredServicesFixture.TenantAKey,
            Api.Json(new { id = "logged", text = "A document posted with a key." }), bearer: true)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Api.SendAsync(search.Url, HttpMethod.Post, "/search", "not-a-key-0123456789", Api.Json(new { query = "x" }))).Status);

        // The database loses a table under the running services.
        await ExecuteAsync(database, "ALTER TABLE chunks RENAME TO chunks_away");
        try
        {
            foreach (var (url, method, path, body) in new (Uri, HttpMethod, string, object?)[]
            {
                (ingest.Url, HttpMethod.Get, "/documents/logged", null),
                (ingest.Url, HttpMethod.Post, "/documents", new { id = "during-the-outage", text = "Posted while a table is missing." }),
                (search.Url, HttpMethod.Post, "/search", new { query = "document", mode = "keyword" }),
                (search.Url, HttpMethod.Get, "/search?q=document&mode=keyword", null),
            })
            {
                var (code, problem, response) = await Api.SendAsync(url, method, path, admin, body is null ? null : Api.Json(body));
                var text = problem.GetRawText();
                Assert.True(code == HttpStatusCode.InternalServerError, $"{method} {path}: {(int)code} {text}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(500, problem.GetProperty("status").GetInt32());
                Assert.True(problem.TryGetProperty("traceId", out _), text);
                foreach (var secret in Internals)
                {
                    Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{method} {path} answered '{secret}': {text}");
                }

                Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            }
        }
        finally
        {
            await ExecuteAsync(database, "ALTER TABLE chunks_away RENAME TO chunks");
        }

        Assert.Equal(HttpStatusCode.OK, (await Api.SendAsync(ingest.Url, HttpMethod.Get, "/documents/logged", SecuredServicesFixture.TenantAKey)).Status);
        await ingest.StopAsync(TimeSpan.FromSeconds(20));
        await search.StopAsync(TimeSpan.FromSeconds(20));

        // The logs hold the failure (the check scans a run that had one), never a key or a password.
        var rabbitUserInfo = new Uri(servers.RabbitMq.ConnectionString).UserInfo;
        foreach (var service in new[] { ingest, search })
        {
            var output = string.Join('\n', service.Output);
            Assert.Contains("chunks", output);
            Assert.Contains("dbug:", output);
            foreach (var secret in new[]
            {
                SecuredServicesFixture.AdminKey, SecuredServicesFixture.TenantAKey, SecuredServicesFixture.TenantBKey, SecuredServicesFixture.SearchOnlyKey,
                SecuredServicesFixture.DifyKey, "not-a-key-0123456789", DatabasePassword, rabbitUserInfo + "@",
            })
            {
                var at = output.IndexOf(secret, StringComparison.Ordinal);
                Assert.True(at < 0, $"{service.Name} logged '{secret}': …{(at < 0 ? "" : output.Substring(Math.Max(0, at - 200), Math.Min(300, output.Length - Math.Max(0, at - 200))))}…");
            }
        }
    }

    [Fact]
    public async Task Every_answer_says_nosniff_and_cross_origin_requests_are_refused_unless_origins_are_configured()
    {
        var database = await servers.NewDatabaseAsync();
        var settings = SecuredServicesFixture.KeySettings();
        settings["ConnectionStrings__vectordb"] = database;
        await using var closed = await ServiceProcess.StartAsync("search-api", "Search.Api", settings);
        settings["Cors__AllowedOrigins__0"] = "https://app.example.com";
        await using var open = await ServiceProcess.StartAsync("search-api-cors", "Search.Api", settings);

        foreach (var (path, key, status) in new[] { ("/health", null, HttpStatusCode.OK), ("/search?q=x&mode=keyword", SecuredServicesFixture.AdminKey, HttpStatusCode.OK),
                     ("/search?q=x", null, HttpStatusCode.Unauthorized), ("/search", SecuredServicesFixture.AdminKey, HttpStatusCode.BadRequest), ("/nowhere", SecuredServicesFixture.AdminKey, HttpStatusCode.NotFound) })
        {
            var (code, _, response) = await Api.SendAsync(closed.Url, HttpMethod.Get, path, key);
            Assert.Equal(status, code);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }

        foreach (var (service, origin, allowed) in new[] { (closed, "https://app.example.com", false), (open, "https://app.example.com", true), (open, "https://evil.example.net", false) })
        {
            using var http = new HttpClient { BaseAddress = service.Url };
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/search");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
            using var answer = await http.SendAsync(preflight, Token);
            using var get = new HttpRequestMessage(HttpMethod.Get, "/health");
            get.Headers.Add("Origin", origin);
            using var simple = await http.SendAsync(get, Token);

            foreach (var response in new[] { answer, simple })
            {
                var granted = response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
                Assert.True(allowed ? granted == origin : granted is null, $"{service.Name}, origin {origin}, {response.RequestMessage!.Method}: Access-Control-Allow-Origin = {granted ?? "(none)"}");
            }
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Token);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Token);
    }
}
