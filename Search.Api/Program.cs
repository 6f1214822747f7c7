using VectorPipeline.Embeddings;
using VectorPipeline.Search.Apis;
using VectorPipeline.Search.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.Services.PrepareVectorStoreAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapDefaultEndpoints();
app.MapSearchApi();

await app.RunAsync();
