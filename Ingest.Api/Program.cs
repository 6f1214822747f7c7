using VectorPipeline.Embeddings;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.Ingest.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.Services.PrepareVectorStoreAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapDefaultEndpoints();
app.MapDocumentsApi();
app.MapModelsApi();
app.MapRetryApi();
app.MapDocumentEventsApi();

await app.RunAsync();
