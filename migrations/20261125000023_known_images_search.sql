-- The image search reads candidates by index instead of every known image (measured 260 ms over
-- 180,000 images with `scripts/bench pages`): by repository, for a text that names
-- repositories, and by last sighting, for the list of recent images.
CREATE INDEX known_images_repository ON known_images (repository);
CREATE INDEX known_images_last_seen ON known_images (last_seen DESC);
