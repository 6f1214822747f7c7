using VectorPipeline.Embeddings;
using VectorPipeline.EmbedWorker.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.Services.PrepareVectorStoreAsync();

app.MapDefaultEndpoints();

await app.RunAsync();
