using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
using VectorPipeline.Embeddings;
using VectorPipeline.Search.Apis;
using VectorPipeline.Search.Extensions;
using VectorPipeline.ServiceDefaults.Security;
using VectorPipeline.VectorStore.Search;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApiSecurity();
builder.AddApplicationServices();

var app = builder.Build();
await app.Services.PrepareVectorStoreAsync();
await app.Services.GetRequiredService<ChunkSearch>().EnsureTextSearchIndexAsync(
    app.Services.GetRequiredService<IOptions<SearchOptions>>().Value.TextSearchConfiguration);

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseApiSecurity();
app.MapDefaultEndpoints();
app.MapScalarApiReference().AllowAnonymous(); // /scalar/v1: the interactive API reference over /openapi/v1.json
app.MapSearchApi();
app.MapContextApi();
app.MapRetrievalApi();

await app.RunAsync();
